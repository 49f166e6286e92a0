/**
 * Наставничество: кнопки «Проверить» и «Показатели» для Google Таблиц.
 *
 * The menu «Наставничество» sends the table's values to the nastavnik server (xlwings.js,
 * file xlwings.gs of this project) and applies the answer: the «Проверка» sheet, the
 * highlighted cells, the «Показатели» sheet and a message.
 *
 * The server address and the token are kept in the Script Properties NASTAVNIK_URL and
 * NASTAVNIK_TOKEN (menu «Наставничество» → «Настройки сервера», or Project Settings →
 * Script Properties). The address below is used only when NASTAVNIK_URL is not set.
 *
 * @OnlyCurrentDoc
 */

const NASTAVNIK_DEFAULT_URL = "https://ВАШ-СЕРВЕР/xlwings";
const NASTAVNIK_TITLE = "Наставничество";
// Sheets the server does not read: not sent, to keep the request small.
const NASTAVNIK_EXCLUDE = "Справочники";

function onOpen() {
  SpreadsheetApp.getUi()
    .createMenu(NASTAVNIK_TITLE)
    .addItem("Проверить", "nastavnikCheck")
    .addItem("Показатели", "nastavnikIndicators")
    .addSeparator()
    .addItem("Настройки сервера", "nastavnikSettings")
    .addToUi();
}

function nastavnikCheck() {
  nastavnikRun_("validate");
}

function nastavnikIndicators() {
  nastavnikRun_("indicators");
}

function nastavnikRun_(action) {
  const ui = SpreadsheetApp.getUi();
  const props = PropertiesService.getScriptProperties();
  const base = (props.getProperty("NASTAVNIK_URL") || NASTAVNIK_DEFAULT_URL).replace(/\/+$/, "");
  const token = props.getProperty("NASTAVNIK_TOKEN") || "";
  if (base.indexOf("ВАШ-СЕРВЕР") >= 0 || !token) {
    ui.alert(
      NASTAVNIK_TITLE,
      "Не указан адрес сервера или токен. Откройте меню «Наставничество» → «Настройки " +
        "сервера» и введите адрес и токен, которые сообщил муниципальный центр наставничества.",
      ui.ButtonSet.OK
    );
    return;
  }
  SpreadsheetApp.getActive().toast("Книга отправлена на сервер, подождите…", NASTAVNIK_TITLE, 30);
  try {
    runPython(base + "/" + action, { auth: token, exclude: NASTAVNIK_EXCLUDE });
  } catch (e) {
    ui.alert(NASTAVNIK_TITLE, nastavnikErrorText_(e), ui.ButtonSet.OK);
  }
}

// runPython throws the body of a non-200 answer: {"error": "<Russian message>"}.
function nastavnikErrorText_(e) {
  const text = e && e.message ? e.message : String(e);
  try {
    const body = JSON.parse(text);
    if (body && body.error) {
      return body.error;
    }
  } catch (ignored) {
    // not JSON: a network or script error
  }
  return "Не удалось связаться с сервером проверки: " + text;
}

// Called by the server's answer (action runMacro) after «Проверить»: turns the «Важность»
// cells of «Проверка» into links to the offending cells. links: [[row, sheet name, "C5"], …]
function nastavnikLinks(workbook, links) {
  const check = workbook.getSheetByName("Проверка");
  if (!check || !links || !links.length) {
    return;
  }
  const gids = {};
  workbook.getSheets().forEach((sheet) => (gids[sheet.getName()] = sheet.getSheetId()));
  const last = Math.max.apply(null, links.map((link) => link[0]));
  const range = check.getRange(2, 1, last - 1, 1);
  const texts = range.getDisplayValues();
  const rich = texts.map((row) => [SpreadsheetApp.newRichTextValue().setText(row[0]).build()]);
  links.forEach((link) => {
    const gid = gids[link[1]];
    const i = link[0] - 2;
    if (gid === undefined || i < 0 || !texts[i][0]) {
      return;
    }
    rich[i][0] = SpreadsheetApp.newRichTextValue()
      .setText(texts[i][0])
      .setLinkUrl("#gid=" + gid + "&range=" + link[2])
      .build();
  });
  range.setRichTextValues(rich);
}

function nastavnikSettings() {
  const ui = SpreadsheetApp.getUi();
  const props = PropertiesService.getScriptProperties();
  const url = ui.prompt(
    NASTAVNIK_TITLE,
    "Адрес сервера проверки (например, https://nastavnik.example.ru/xlwings). Сейчас: " +
      (props.getProperty("NASTAVNIK_URL") || "не указан"),
    ui.ButtonSet.OK_CANCEL
  );
  if (url.getSelectedButton() !== ui.Button.OK) {
    return;
  }
  if (url.getResponseText().trim()) {
    props.setProperty("NASTAVNIK_URL", url.getResponseText().trim());
  }
  const token = ui.prompt(
    NASTAVNIK_TITLE,
    "Токен доступа к серверу (оставьте пустым, чтобы не менять).",
    ui.ButtonSet.OK_CANCEL
  );
  if (token.getSelectedButton() === ui.Button.OK && token.getResponseText().trim()) {
    props.setProperty("NASTAVNIK_TOKEN", token.getResponseText().trim());
  }
  ui.alert(NASTAVNIK_TITLE, "Настройки сохранены.", ui.ButtonSet.OK);
}
