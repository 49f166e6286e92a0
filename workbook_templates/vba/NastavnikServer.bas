Attribute VB_Name = "NastavnikServer"
' The two buttons of the server-bound school workbook (school.xlsm downloaded from the
' nastavnik server). Nothing is installed on the school PC: RunServerPython (the Remote
' module of xlwings) posts the workbook's values to the server, which checks them and
' answers with the actions to replay (write the sheet, colour cells, show a message).
' The server address (NASTAVNIK_URL) and the school's button token (AUTH, sent as the
' Authorization header) are on the hidden sheet xlwings.conf. Names are ASCII on purpose:
' the VBA project is stored in a single-byte code page.
Option Explicit

' The button "Proverit'" (check the workbook).
Public Sub CheckBook()
    RunServerPython GetConfig("NASTAVNIK_URL") & "/validate"
End Sub

' The button "Pokazateli" (indicators).
Public Sub ShowIndicators()
    RunServerPython GetConfig("NASTAVNIK_URL") & "/indicators"
End Sub
