"""The experiment store, one concept per module (none imports a later one):

- records: ExperimentRecord, RunKind, Status, the RecordStore interface
- journal: the JSON-lines journal engines append to
- files: small files beside the store (known models, atomic JSON, write lock)
- schema: record <-> side-index row, catalog facts, the embedded description
- embeddings: the offline sentence embedder
- index: the SQLite side index (every field; answers filters and sorts)
- vectors: the Chroma collection (description vectors, for semantic search)
- experiments: the store itself (journal + side index + vectors), open_store
- query, query_exec: structured and semantic queries
- compare: side-by-side comparison of runs

This file imports nothing, so importing one module loads only what it needs.
"""
