"""Design-space sweeps: specs (:mod:`.spec`), blocks (:mod:`.blocks`), executors
(:mod:`.executors`), the resumable store (:mod:`.store`) and the driver (:mod:`.run`)."""
