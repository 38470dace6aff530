// A forked process starts with a copy of the zygote's random state: without this, every sandbox's
// Math.random() would return the same sequence (V8 keeps the state per context, in the heap), and
// crypto.randomUUID() would hand out the zygote's cached batch again. OpenSSL (crypto.randomBytes)
// notices the fork by itself and reseeds.
import crypto = require('node:crypto');
import v8 = require('node:v8');

const POOL = 512; // pairs of 32-bit words, refilled from OpenSSL's generator
const TWO_POW_53 = 2 ** 53;

/** Math.random drawing from the (fork-safe) CSPRNG; uniform over [0, 1) with 53 random bits, as V8's. */
function freshMathRandom(): () => number {
  const words = new Uint32Array(POOL * 2);
  let next = words.length;
  const random = function random(): number {
    if (next === words.length) {
      crypto.randomFillSync(words);
      next = 0;
    }
    const high = words[next++] >>> 11; // 21 bits
    const low = words[next++]; // 32 bits
    return (high * 2 ** 32 + low) / TWO_POW_53;
  };
  return random;
}

export function reseedRandomness(): void {
  Math.random = freshMathRandom();
  // Contexts created from now on (vm, Jest's test environments) seed their Math.random from this flag,
  // not from the isolate's generator, whose state every fork shares. All of one sandbox's new contexts
  // get the same seed; each sandbox its own.
  v8.setFlagsFromString(`--random-seed=${crypto.randomInt(1, 2 ** 31 - 1)}`);
  // randomUUID() serves from a cache of 128 filled at once; draining it reaches a batch drawn after the fork.
  for (let i = 0; i < 128; i++) crypto.randomUUID();
}
