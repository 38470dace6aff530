// Messages between the runner (Jest's process) and a test file's process inside its sandbox.
import type { Config } from '@jest/types';

/** Sent as soon as a sandbox is booted, before its file is known. */
export interface PrepareRequest {
  type: 'prepare';
  /** A JSON file with the project's serialisable resolver, written once per run. */
  resolverFile: string;
  /** Modules to load ahead: Jest's runtime, the project's test environment and test runner. */
  preload: string[];
}

export interface RunRequest {
  type: 'run';
  path: string;
  config: Config.ProjectConfig;
  globalConfig: Config.GlobalConfig;
  context: Record<string, unknown>;
}

export type ParentMessage = PrepareRequest | RunRequest;

export type ChildMessage =
  | { type: 'result'; result: unknown }
  | { type: 'failure'; error: { message: string; stack?: string } };

/** jest-worker's tag for a custom message (messageParent), as testWorker sends test-case events. */
export const PARENT_MESSAGE_CUSTOM = 3;

/** Set by the runner only when onUnsupported is 'warn' and this host cannot create sandboxes. */
export const UNSANDBOXED_ENV = 'NSBOX_JEST_UNSANDBOXED';
