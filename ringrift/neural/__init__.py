"""Neural-network players: ONNX models over our training tensors, batched
across games.

model.py    load + check a model against the contract, its digest
build.py    tiny contract-conforming ONNX nets (tests, benchmarks)
search.py   Numba: PUCT tree, priors from logits, leaf encoding
driver.py   Python loop stepping many games, one network call per batch
"""
