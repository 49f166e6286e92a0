"""Where school workbooks come from: the registry of schools, a folder of files, Google Sheets.

* ``base``      what every source hands over (``Fetched``), the registry entry, the errors
* ``registry``  the registry of schools (.csv/.xlsx/.ods)
* ``folder``    files in a folder; ``google`` Google Sheets (imported only when needed)
* ``webdav``    files in a WebDAV folder (Яндекс Диск, Nextcloud, Облако Mail.ru): listed
                once per folder, downloaded into a temporary file the folder source reads
* ``fetch``     which source reads an entry, and fetching a whole registry in order

A *source* turns one registry entry into a ``Fetched``: the school's raw sheets (checked to be
our workbook of a known version; consolidation types many schools at once) or a typed
``WorkbookError`` saying why there are none. A source never raises for one bad school, so
one school never stops a municipal run.

* ``FolderSource`` reads .xlsx/.xlsm/.ods files with fastexcel (``addin.model.load_sheets``).
* ``GoogleSheetsSource`` (``sync.sources.google``, imported only when a registry names a
  spreadsheet: gspread and google-auth cost a tenth of a second to import) reads a Google
  spreadsheet with stock gspread: ONE
  ``spreadsheets.get`` request per spreadsheet for every contract sheet, asking (by a field
  mask) only for each cell's effective value and number format type. A number whose format
  is a date or time becomes a Python datetime (time) as openpyxl gives it from an .xlsx,
  so a date typed into a text column reads «ДД.ММ.ГГГГ» as from the file, not a serial
  number; everything else arrives as the values API gives it (numbers, text exactly as
  typed, booleans). It retries 429/5xx/connection errors with exponential backoff and paces
  its requests to respect the API quota. ``endpoint`` redirects all Google traffic to
  another base URL (a staging server, or the fake Sheets API of the tests) through
  ``LoopbackAdapter``.
"""
