"""Deployable stacks. Each composes constructs from `ml_constructs` and holds no logic of its own."""
