"""Publishing: HTML pages, tables, words."""
