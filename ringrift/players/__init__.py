"""AI players (random, heuristic, minimax, MCTS) and the difficulty ladder."""
