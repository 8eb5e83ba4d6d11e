# Ramulator 2 configuration matched to sparsim's hbm2 preset: 8 channels of HBM2_8Gb at
# HBM2_2000Mbps with two pseudo channels each (sparsim's channels 2k and 2k+1), its HBM12
# controller (a row and a column command slot a cycle, ACT two cycles), FR-FCFS row-hit-first,
# all-bank refresh per pseudo channel, open rows, default buffers and watermarks, pass-through
# address and channel maps (as ddr4-3200.py).
import ramulator

frontend = ramulator.frontend.External(clock_ratio=1)
controllers = [
    ramulator.controller.HBM12(
        dram=ramulator.dram.HBM2(org_preset="HBM2_8Gb", timing_preset="HBM2_2000Mbps"),
        scheduler=ramulator.scheduler.FRFCFSRowHit(),
        refresh_manager=ramulator.refresh_manager.AllBank(),
        row_policy=ramulator.row_policy.Open(),
        addr_mapper=ramulator.addr_mapper.PassThroughAddrMapper(),
    )
    for _ in range(8)
]
memory = ramulator.memory_system.GenericDRAM(
    clock_ratio=1, controllers=controllers, channel_mapper=ramulator.channel_mapper.PassThroughChannelMapper()
)
sim = ramulator.Simulation(frontend, memory)
