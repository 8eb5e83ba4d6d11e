"""What is computed: layer tables, lowering to GEMMs, sparsity patterns, topology file I/O."""
