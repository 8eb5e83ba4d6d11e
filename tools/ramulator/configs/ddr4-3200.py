# Ramulator 2 configuration matched to sparsim's ddr4-3200 preset: DDR4_3200AA, DDR4_8Gb_x8, one
# rank, FR-FCFS row-hit-first, all-bank refresh, open rows, 32/32 read/write buffers with 0.2/0.8
# write watermarks (its defaults), and pass-through address and channel maps: the trace gives each
# request's decoded channel/rank/bank group/bank/row/column, so both simulators place it alike.
# Exported to YAML with Ramulator's own `python -m ramulator export` (tools/ramulator/goldens.py).
import ramulator

frontend = ramulator.frontend.External(clock_ratio=1)
controller = ramulator.controller.GenericDDR(
    dram=ramulator.dram.DDR4(org_preset="DDR4_8Gb_x8", timing_preset="DDR4_3200AA", rank=1),
    scheduler=ramulator.scheduler.FRFCFSRowHit(),
    refresh_manager=ramulator.refresh_manager.AllBank(),
    row_policy=ramulator.row_policy.Open(),
    addr_mapper=ramulator.addr_mapper.PassThroughAddrMapper(),
)
memory = ramulator.memory_system.GenericDRAM(
    clock_ratio=1, controllers=[controller], channel_mapper=ramulator.channel_mapper.PassThroughChannelMapper()
)
sim = ramulator.Simulation(frontend, memory)
