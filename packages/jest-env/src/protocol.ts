// Messages between the runner (Jest's process) and a test file's process inside its sandbox.
import type { Config } from '@jest/types';

export interface RunRequest {
  type: 'run';
  path: string;
  config: Config.ProjectConfig;
  globalConfig: Config.GlobalConfig;
  context: Record<string, unknown>;
  /** A JSON file with the project's serialisable resolver, written once per run. */
  resolverFile: string;
}

export type ChildMessage =
  | { type: 'result'; result: unknown }
  | { type: 'failure'; error: { message: string; stack?: string } };

/** jest-worker's tag for a custom message (messageParent), as testWorker sends test-case events. */
export const PARENT_MESSAGE_CUSTOM = 3;

/** Set by the runner only when onUnsupported is 'warn' and this host cannot create sandboxes. */
export const UNSANDBOXED_ENV = 'NSBOX_JEST_UNSANDBOXED';
