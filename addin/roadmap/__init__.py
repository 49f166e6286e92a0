"""The roadmap importer: a roadmap a school already has (.docx, PDF, .doc, .odt, .rtf, a web
page, text, a spreadsheet) put into the «Дорожная карта» sheet of its workbook.

* ``sources``   which reader reads a document; ``text``, ``word``, ``pdf``, ``sheet`` one per format
* ``table``     what every reader gives: tables of rows of cleaned cell texts
* ``columns``   which column of a table holds what (header names and shapes)
* ``importer``  which tables are roadmaps, their activities and deadlines, and the copy written
"""
