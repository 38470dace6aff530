// `testEnvironment: 'nsbox'`: Node's environment, once it has checked that this process really is
// inside an nsbox container. Jest loads the environment in the process that already runs the test
// file, so the environment alone cannot move the file into a container: the runner does that.
import NodeEnvironment from 'jest-environment-node';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';

const SANDBOX_MARK = Symbol.for('nsbox.sandbox');

export const MISSING_RUNNER =
  'jest-environment-nsbox: this test file is not running inside an nsbox container. ' +
  'Jest loads a test environment in the process that already runs the file, so the environment alone cannot isolate it. ' +
  "Add this line to your Jest config: runner: 'jest-environment-nsbox/runner' " +
  "(or replace both lines with preset: 'jest-environment-nsbox').";

export default class NsboxEnvironment extends NodeEnvironment {
  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    // Set by nsbox's setup in a sandbox, or by the runner's child when onUnsupported: 'warn' let it run unsandboxed.
    if (!(process as unknown as Record<symbol, unknown>)[SANDBOX_MARK]) throw new Error(MISSING_RUNNER);
    super(config, context);
  }
}

export { NsboxEnvironment as TestEnvironment };
