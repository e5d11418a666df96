"""Number formats where Django's locale defaults don't suit the team (settings.FORMAT_MODULE_PATH).

Django formats Chinese numbers without a thousands separator ("56479"); customer-success teams in
Taiwan and mainland China read money and counts grouped by three with commas ("56,479"), as
their billing systems and spreadsheets print them. Everything else comes from Django's locale."""
