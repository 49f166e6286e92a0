Attribute VB_Name = "Nastavnik"
' The two buttons of the nastavnik school workbook (school.xlsm).
' The Python side is addin/buttons.py of the nastavnik package; RunPython comes from
' the xlwings module of this workbook (or of the xlwings add-in). Names are ASCII on
' purpose: the VBA project is stored in a single-byte code page.
Option Explicit

' The button "Proverit'" (check the workbook).
Public Sub CheckBook()
    RunPython "import addin.buttons as b; b.main_validate()"
End Sub

' The button "Pokazateli" (indicators).
Public Sub ShowIndicators()
    RunPython "import addin.buttons as b; b.main_indicators()"
End Sub
