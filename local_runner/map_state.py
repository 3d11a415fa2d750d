"""Step Functions' distributed Map state, executed locally: the adapter's patches for it.

engine.py installs them with the others. What each fills in, and what AWS does there:
map_definition.py (parsing: ItemBatcher, tolerances), map_reader.py (ItemReader), map_run.py
(the Map Run: ItemSelector, bounded parallel child executions, tolerated failures),
map_results.py (ResultWriter). Canary tests: tests/local_runner/test_map_state.py.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
    distributed_iteration_component as distributed,
)

from local_runner import map_definition, map_reader, map_results, map_run

_original_eval_execution = state_map.StateMap._eval_execution


def _eval_execution(self, env) -> None:
    """StateMap._eval_execution, keeping the state's input (after InputPath: the top of the
    stack now) for ItemSelector and BatchInput; when a Map Run fails, its results are
    exported before the Map fails, as on AWS."""
    setattr(env, map_run.MAP_INPUT_ATTRIBUTE,
            copy.deepcopy(env.stack[-1] if env.stack else env.states.get_input()))
    setattr(env, map_run.MAP_RUN_ATTRIBUTE, None)
    try:
        _original_eval_execution(self, env)
    except FailureEventException:
        if self.result_writer is not None and getattr(env, map_run.MAP_RUN_ATTRIBUTE, None):
            env.stack.append(None)  # in place of the outputs, which a failed run has not
            try:
                self.result_writer.eval(env)
                env.stack.pop()
            except FailureEventException:
                pass  # the Map Run's own failure is what the Map reports
        raise
    finally:
        setattr(env, map_run.MAP_RUN_ATTRIBUTE, None)


def patches(worker_bound: Callable[[], int]) -> list[tuple[object, str, object]]:
    """`worker_bound()`: the most child executions that run at once on this machine."""
    return [*map_definition.PATCHES, *map_reader.PATCHES, *map_results.PATCHES,
            (state_map.StateMap, "_eval_execution", _eval_execution),
            (distributed.DistributedIterationComponent, "_map_run",
             map_run.map_run(worker_bound))]
