// What the runner (Jest's process) and a test file's process agree on. The messages themselves are
// jest-worker's own (its processChild.js runs in the sandbox); only the setup data is nsbox's.

/** The argument of child.ts's setup(), sent as jest-worker's setupArgs as soon as a sandbox is booted. */
export interface SetupData {
  /** The jest-runner entry that the running Jest uses, so the sandbox runs the same copy. */
  jestRunner: string;
  /** A JSON file with the project's serialisable resolver, written once per run. */
  resolverFile: string;
  /** Modules to load ahead: Jest's runtime, the project's test environment, test runner and transformers. */
  preload: string[];
  /** Node's compile cache directory (Node 22+), shared by the project's sandboxes. */
  compileCache: string;
  /** onUnsupported: 'warn' on a host without sandboxes: the environment is told it may run unsandboxed. */
  unsandboxed: boolean;
  /**
   * Zygote mode: files of this run to put through each configured transformer once in the zygote, so
   * that transformers' own per-process state (ts-jest's language service, Babel's config) is built
   * once and every forked file inherits it.
   */
  warm?: { files: string[]; coverage: boolean; globalConfig: unknown };
}

/** Carries SetupData into the zygote's prepare module (zygote-prepare.ts). */
export const ZYGOTE_SETUP_ENV = 'NSBOX_JEST_ZYGOTE_SETUP';

/** jest-worker's message tags (the same in Jest 29 and 30). */
export const CHILD_MESSAGE_INITIALIZE = 0;
export const CHILD_MESSAGE_CALL = 1;
export const CHILD_MESSAGE_CALL_SETUP = 4;
export const PARENT_MESSAGE_OK = 0;
export const PARENT_MESSAGE_CLIENT_ERROR = 1;
export const PARENT_MESSAGE_SETUP_ERROR = 2;
export const PARENT_MESSAGE_CUSTOM = 3;
