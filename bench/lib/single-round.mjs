// One round of the single-sandbox measurements, in a fresh Node process: spawn() costs grow with the
// size of the calling process (fork copies its page tables), so they are not timed from the benchmark's
// own process, whose heap grows over the run.
// `node single-round.mjs CORE_DIR WORKER REPS` prints { runs, memory, foreign } as JSON.
import { foreignLoad } from './proc.mjs';
import { loadSingle, runSingleRound, workerMemory } from './single.mjs';

const [core, worker, reps] = process.argv.slice(2);
const { nsbox, variants } = await loadSingle(core, worker);
const others = foreignLoad();
const runs = await runSingleRound(variants, Number(reps));
const foreign = others.stop();
const memory = { plain: [], nsbox: [] };
for (let i = 0; i < 3; i++) {
  for (const which of ['plain', 'nsbox']) memory[which].push(await workerMemory(nsbox, worker, which));
}
process.stdout.write(JSON.stringify({ runs, memory, foreign, variants: Object.keys(variants).length }), () => process.exit(0));
