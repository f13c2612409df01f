"""Reports of the bilan du plan: data, labels (French), renderers (HTML, PDF, CSV, XLSX, JSON)."""
