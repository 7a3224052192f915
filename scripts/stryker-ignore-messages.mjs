// A Stryker ignorer (`ignorers: ['epara-messages']` in stryker.config.mjs): leaves unmutated the text meant
// only for people — the message of a thrown error and the arguments of a log line. Mutating it yields
// mutants that are equivalent in behaviour (the error's code, field and details stay; a log line changes
// nothing observable), which no test should pin and which cost a test run each. docs/testing.md lists them.
//
// What is ignored, by the shape of the code (a mutant whose node lies inside one of these is `Ignored`):
// - the message of `new EparaError(code, message, …)` (its second argument);
// - the `expected` hint of `invalidOption(field, value, expected)` (its third argument);
// - the message of `new Error(…)`, `new TypeError(…)`, `new RangeError(…)` (the first argument);
// - every argument of `logger.debug/info/warn/error/trace(…)`, `console.*(…)` and `this.#log…(…)`-style calls;
// - the allocator's explanations: the `reason` of `infeasible(constraint, reason)` (its second argument) and
//   the value of a `notes: […]` property (a plan's human-readable notes). The plan's `constraint`, its figures
//   and every decision stay mutated.
// The code, the field and the details object of an error stay mutated: callers and tests read them.

const ERROR_CLASSES = new Set(['Error', 'TypeError', 'RangeError']);
const LOG_METHODS = new Set(['debug', 'info', 'warn', 'error', 'trace']);
const LOGGERS = /^(?:logger|log|console|#?logger|#?log)$/;

/** The name of a callee: `f` for `f(…)`, `g` for `a.b.g(…)`, `#g` for `this.#g(…)`. */
function calleeName(callee) {
  if (callee.type === 'Identifier') return callee.name;
  if (callee.type === 'MemberExpression' || callee.type === 'OptionalMemberExpression') {
    const p = callee.property;
    if (p.type === 'Identifier') return p.name;
    if (p.type === 'PrivateName') return `#${p.id.name}`;
  }
  return undefined;
}

/** The name of the object a method is called on: `logger` in `this.logger.warn(…)`. */
function receiverName(callee) {
  if (callee.type !== 'MemberExpression' && callee.type !== 'OptionalMemberExpression') return undefined;
  return calleeName(callee.object) ?? (callee.object.type === 'ThisExpression' ? 'this' : undefined);
}

function reason(path) {
  if (path.key === 'value' && path.parent?.type === 'ObjectProperty' && !path.parent.computed && path.parent.key?.type === 'Identifier' && path.parent.key.name === 'notes') {
    return 'plan notes (text for people)';
  }
  if (path.listKey !== 'arguments' || typeof path.key !== 'number') return undefined;
  const call = path.parent;
  if (!call) return undefined;
  const name = calleeName(call.callee);
  if (call.type === 'NewExpression') {
    if (name === 'EparaError' && path.key === 1) return 'error message (text for people)';
    if (ERROR_CLASSES.has(name) && path.key === 0) return 'error message (text for people)';
    return undefined;
  }
  if (call.type !== 'CallExpression' && call.type !== 'OptionalCallExpression') return undefined;
  if (name === 'invalidOption' && path.key === 2) return 'option error hint (text for people)';
  if (name === 'infeasible' && path.key === 1) return 'infeasibility reason (text for people)';
  if (LOG_METHODS.has(name) && LOGGERS.test(receiverName(call.callee) ?? '')) return 'log line';
  return undefined;
}

export const strykerPlugins = [
  {
    kind: 'Ignore',
    name: 'epara-messages',
    value: { shouldIgnore: reason },
  },
];

export { reason as messageIgnoreReason };
