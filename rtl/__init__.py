"""Amaranth components, Verilog export and cocotb test benches (see issue: RTL cross-check)."""
