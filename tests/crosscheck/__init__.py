"""Cross-check of chainrule's derivatives against PyTorch (runs only where torch is installed)."""
