"""The check-and-submit page of `nastavnik serve`: a school uploads its workbook, sees the same
findings and indicators as the buttons and `nastavnik validate`, downloads an annotated copy,
and submits an error-free workbook to the municipality's collection folder.

* routes.py   the router (pages, downloads, login) and the short-lived result store
* access.py   school access codes (scrypt), signed session cookies, CSRF tokens, throttling
* collect.py  where submitted workbooks go: schools/<code>.<ext> plus an archive per period
"""
