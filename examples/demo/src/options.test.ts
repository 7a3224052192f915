import { describe, expect, it } from 'vitest';
import { isEparaError } from '@epara/core';
import { parseDemoArgs, resolveDemoOptions } from './options.js';

describe('the demo options behind the A/B policies', () => {
  it('default to the profiles, and read --plan-costs and --announce', () => {
    expect(resolveDemoOptions({})).toMatchObject({ planCosts: 'profile', announce: 'profile' });
    const { options } = parseDemoArgs(['--', '--plan-costs', 'measured', '--announce', 'measured', '--quick']);
    expect(resolveDemoOptions(options)).toMatchObject({ planCosts: 'measured', announce: 'measured', quick: true });
  });

  it('refuse another value, naming the field and what it takes', () => {
    const { options } = parseDemoArgs(['--plan-costs', 'guessed']);
    expect(() => resolveDemoOptions(options)).toThrow(/planCosts.*'profile' or 'measured'.*guessed/);
    try {
      resolveDemoOptions({ announce: 'x' as 'measured' });
    } catch (err) {
      expect(isEparaError(err) && err.code).toBe('INVALID_OPTIONS');
    }
    expect.assertions(2);
  });
});
