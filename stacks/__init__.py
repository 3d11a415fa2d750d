"""Deployable stacks: each composes constructs from `ml_constructs` and holds no logic."""
