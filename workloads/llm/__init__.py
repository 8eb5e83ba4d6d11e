"""LLM workloads: a decoder-only transformer's shapes (:mod:`workloads.llm.model`: Hugging Face
configs and named built-ins), its inference in phases as layer tables
(:mod:`workloads.llm.phases`: prefill, decode steps, the KV cache, element-wise operators), and
the check against the real ``transformers`` class (:mod:`workloads.llm.trace_hf`)."""
