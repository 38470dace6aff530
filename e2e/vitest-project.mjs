// The Vitest e2e projects' config, shared by Vitest 4 (vitest4/) and Vitest 5 (vitest5/): each passes
// the pool factory from its own node_modules.
import path from 'node:path';

const suite = path.resolve(import.meta.dirname, 'suite');

export function suiteConfig(nsbox) {
  return {
    test: {
      root: suite,
      include: ['tests/**/*.test.js'],
      globals: true,
      pool: nsbox({
        network: 'loopback',
        onUnsupported: process.env.NSBOX_E2E_ON_UNSUPPORTED,
        timeout: process.env.NSBOX_E2E_TIMEOUT ? Number(process.env.NSBOX_E2E_TIMEOUT) : undefined,
        mode: process.env.NSBOX_E2E_MODE,
      }),
      // The isolation files wait for each other to hold the same port at once: run them side by side.
      maxWorkers: 3,
      env: { NSBOX_E2E_RESULTS: process.env.NSBOX_E2E_RESULTS ?? path.join(suite, '.results') },
      coverage: { provider: 'v8', include: ['lib/math.cjs'], reporter: ['json-summary', 'text'] },
    },
  };
}

/** The fidelity corpus (e2e/fidelity/vitest): NSBOX_E2E_POOL=forks runs it under the stock forks pool, =nsboxfresh in the pool's fresh mode (default: its zygote mode). */
export function fidelityConfig(nsbox) {
  return {
    test: {
      root: path.resolve(import.meta.dirname, 'fidelity'),
      include: ['vitest/**/*.test.ts'],
      globals: true,
      pool: process.env.NSBOX_E2E_POOL === 'forks' ? 'forks' : nsbox({ mode: process.env.NSBOX_E2E_POOL === 'nsboxfresh' ? 'fresh' : 'zygote' }),
      execArgv: ['--expose-gc', '--max-old-space-size=300'],
      maxWorkers: 2,
      env: { NSBOX_E2E_RESULTS: process.env.NSBOX_E2E_RESULTS },
    },
  };
}
