// A /proc that shows the sandbox's processes only. It has to be mounted from inside the new PID
// namespace: a proc mounted from outside shows the host's processes.
import { MS_NODEV, MS_NOEXEC, MS_NOSUID, mount } from './ffi.cjs';

export function mountProc(): void {
  mount('proc', 'proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
}
