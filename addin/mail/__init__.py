"""E-mail to schools: the centre's mail settings (TOML, password from the environment or a
file), the letters' templates with checked placeholders, addresses from the registry, one
SMTP sender that reports each letter's outcome, and the record of every letter.

The web pages («Напомнить», returns, results of «Собрать свод») and `nastavnik remind` use it;
it imports nothing of the web server.
"""
