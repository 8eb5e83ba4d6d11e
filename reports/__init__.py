"""Figure, table and report builders."""
