// store.ts — holds the one KioskState, feeds actions through the pure reducer, hands the
// reducer's effects to a runner. Listeners are called after every action.
import { reduce, type Action, type Effect, type KioskState } from './state';

export type Dispatch = (a: Action) => void;
export type EffectRunner = (e: Effect, dispatch: Dispatch) => void;

export interface Store {
  get(): KioskState;
  dispatch: Dispatch;
  subscribe(listener: (s: KioskState, a: Action) => void): () => void;
}

export function createStore(initial: KioskState, run: EffectRunner): Store {
  let state = initial;
  const listeners = new Set<(s: KioskState, a: Action) => void>();
  const dispatch: Dispatch = (a) => {
    const step = reduce(state, a);
    state = step.state;
    for (const l of listeners) l(state, a);
    for (const e of step.effects) run(e, dispatch);
  };
  return {
    get: () => state,
    dispatch,
    subscribe(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}
