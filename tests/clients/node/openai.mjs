// The official OpenAI Node SDK against Shepherd's OpenAI-compatible API (through the edge's HTTP/1.1 listener).
// Prints one line of JSON per scenario: what the SDK returned or the error it raised.
//
//   SHEPHERD_API_KEY=... node tests/clients/node/openai.mjs http://127.0.0.1:5104/v1 <scenario> [query]
//
// scenarios: models, completion, stream, bad-parameter, missing-key, rate-limited (five model lists at once).
import OpenAI from 'openai';

const [baseURL, scenario, query = 'What is 6 * 7?'] = process.argv.slice(2);
const apiKey = process.env.SHEPHERD_API_KEY ?? '';
if (!baseURL || !scenario) {
  console.error('usage: SHEPHERD_API_KEY=<key> node openai.mjs <base url ending in /v1> <scenario> [query]');
  process.exit(2);
}

// No retries: a 429 must reach the test as it was sent.
const client = new OpenAI({ baseURL, apiKey: apiKey || 'unused', maxRetries: 0, timeout: 60_000 });
const messages = [{ role: 'user', content: query }];

function failure(error) {
  return {
    status: error.status ?? null,
    type: error.type ?? error.error?.type ?? null,
    code: error.code ?? error.error?.code ?? null,
    param: error.param ?? error.error?.param ?? null,
    message: error.message ?? String(error),
    retryAfter: error.headers?.get?.('retry-after') ?? null,
  };
}

async function run() {
  switch (scenario) {
    case 'models': {
      const page = await client.models.list();
      return { ids: page.data.map((m) => m.id) };
    }
    case 'completion':
      // Extra body fields pass through the SDK untouched: Shepherd's extension object.
      return await client.chat.completions.create({ model: 'shepherd-llm', messages, shepherd: { task: 'gsm8k' } });
    case 'stream': {
      const stream = await client.chat.completions.create({
        model: 'shepherd-llm', messages, stream: true, stream_options: { include_usage: true }, shepherd: { task: 'gsm8k' },
      });
      const chunks = [];
      for await (const chunk of stream) {
        chunks.push(chunk);
      }
      return { chunks };
    }
    case 'bad-parameter':
      return await client.chat.completions.create({ model: 'shepherd-reactive', messages, shepherd: { alpha: 1.5 } })
        .then(() => ({ unexpected: 'success' }), (e) => ({ error: failure(e) }));
    case 'missing-key': {
      // The SDK always sends a key: remove the header, as a client without one would.
      const bare = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, defaultHeaders: { Authorization: null } });
      return await bare.chat.completions.create({ model: 'shepherd-slm', messages })
        .then(() => ({ unexpected: 'success' }), (e) => ({ error: failure(e) }));
    }
    case 'rate-limited': {
      const started = performance.now();
      // The key's limit covers every route; the model list answers at once, so elapsedMs is the calls' spread.
      const calls = [0, 1, 2, 3, 4].map(() => client.models.list()
        .then((page) => ({ ok: page.data.length }), (e) => ({ error: failure(e) })));
      const results = await Promise.all(calls);
      return { results, elapsedMs: performance.now() - started };
    }
    default:
      console.error(`unknown scenario ${scenario}`);
      process.exit(2);
  }
}

try {
  console.log(JSON.stringify(await run()));
} catch (e) {
  console.error(JSON.stringify(failure(e)));
  process.exit(1);
}
