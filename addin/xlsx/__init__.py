"""The xlsx package read and written part by part (no full load): the pieces, and the two
copies written with them.

* ``package``      the zip package: parts, relations, content types, atomic replacement
* ``sheet``        a sheet's XML: header row, new output sheets, hyperlinks
* ``rows``         rows of cells from Arrow columns (one writer for every output sheet)
* ``styles``       fills and number formats added to the package's styles
* ``comments``     cell notes (comments part and legacy VML drawing)
* ``annotate``     the annotated copy: «Проверка» sheet, highlights, notes, «Показатели»
* ``suggestions``  the copy with the «Предложения пар» sheet
"""
