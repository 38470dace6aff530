// Where a command name resolves on a PATH, as execvp would find it: shared by the host side (stage 0's
// tools, whether a command is Node) and the exec stage inside the sandbox.
import fs = require('node:fs');
import path = require('node:path');

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export function which(command: string, searchPath: string = process.env.PATH ?? DEFAULT_PATH): string | undefined {
  if (command.includes('/')) return command;
  for (const dir of searchPath.split(':')) {
    const candidate = path.resolve(dir || '.', command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
