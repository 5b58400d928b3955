"""The core: what every part shares, and nothing of any part's own.

Located errors (`errors`), lines as Python counts them (`text`), paths checked
before use (`paths`), test seams (`seams`), the progress callback
(`progress`), and the plain values generated code is made of: safe names
(`naming`), import statements (`imports`) and the model templates read
(`model`).

May import: the standard library, `scaffold` itself (`__version__`) and
`scaffold.layout`. Nothing else of scaffold. Imports nothing here.
"""
