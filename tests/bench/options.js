// options.js — the bench's command line. Bad input is refused with a clear
// message before anything starts.

/** Every measurement, in the order it runs. */
export const MEASUREMENTS = ['size', 'cold', 'warm', 'woken', 'backlog', 'idle', 'server'];

const FULL = { sessions: 50, starts: 30, wakes: 10, backlog: 1000, idleSeconds: 300, serverSessions: 100000 };
const QUICK = { sessions: 10, starts: 10, wakes: 5, backlog: 1000, idleSeconds: 70, serverSessions: 20000 };

export const USAGE = `usage: ./build.sh bench [server] [options]
  (no argument)          every measurement: one table, and JSON in target/bench.json
  server                 only the server's batch ingest (cargo bench)
options (whole bench):
  --quick                fewer samples, a 70 s idle window, 20,000 sessions for the server
  --sessions N           tab closes per latency figure (default ${FULL.sessions}, quick ${QUICK.sessions})
  --starts N             cold starts of the shell (default ${FULL.starts}, quick ${QUICK.starts})
  --wakes N              stopped-worker wakes (default ${FULL.wakes}, quick ${QUICK.wakes})
  --backlog N            sessions to enqueue and drain (default ${FULL.backlog})
  --idle-seconds N       idle window (default ${FULL.idleSeconds}, quick ${QUICK.idleSeconds})
  --server-sessions N    sessions per server-bench round (default ${FULL.serverSessions}, quick ${QUICK.serverSessions})
  --only LIST            comma-separated subset of: ${MEASUREMENTS.join(',')}
  --json PATH            where the JSON goes (default target/bench.json)`;

/** A command line the bench cannot run; its message says why. */
export class UsageError extends Error {
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

const NUMERIC = {
  '--sessions': ['sessions', 1, 10000],
  '--starts': ['starts', 1, 1000],
  '--wakes': ['wakes', 1, 1000],
  '--backlog': ['backlog', 2, 100000],
  '--idle-seconds': ['idleSeconds', 0, 86400],
  '--server-sessions': ['serverSessions', 500, 10000000],
};

/** Parses `argv` (without node and the script). */
export function parseOptions(argv) {
  const quick = argv.includes('--quick');
  const options = { quick, ...(quick ? QUICK : FULL), only: [...MEASUREMENTS], json: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') continue;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (Object.hasOwn(NUMERIC, arg)) {
      const [key, min, max] = NUMERIC[arg];
      const text = value();
      const n = Number(text);
      if (!/^\d+$/.test(text) || n < min || n > max) {
        throw new UsageError(`${arg} must be a whole number from ${min} to ${max}, not "${text}"`);
      }
      options[key] = n;
    } else if (arg === '--only') {
      const list = value().split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = list.filter((m) => !MEASUREMENTS.includes(m));
      if (unknown.length || list.length === 0) {
        throw new UsageError(`--only takes a comma-separated subset of ${MEASUREMENTS.join(',')}; unknown: ${unknown.join(',') || '(empty)'}`);
      }
      options.only = MEASUREMENTS.filter((m) => list.includes(m));
    } else if (arg === '--json') {
      options.json = value();
    } else if (arg === '-h' || arg === '--help') {
      options.help = true;
    } else {
      throw new UsageError(`unknown option "${arg}"`);
    }
  }
  return options;
}
