// A Shepherd client in another language: calls shepherd.v1.ShepherdService/Answer through the edge, from the
// .proto files alone (no generated code), and prints the response as one line of JSON.
//
//   SHEPHERD_API_KEY=... node tests/clients/node/answer.mjs http://127.0.0.1:5100 "What is 6 * 7?" [strategy] [task]
//
// strategy and task are the enum names without their prefix (llm, proactive, gsm8k, ...); defaults: llm, generic.
// Exit codes: 0 answered, 1 the call failed (its gRPC status on stderr as JSON), 2 bad usage.
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const here = path.dirname(fileURLToPath(import.meta.url));
const protos = path.resolve(here, '..', '..', '..', 'protos');

const [address, query, strategy = 'llm', task = 'generic'] = process.argv.slice(2);
const apiKey = process.env.SHEPHERD_API_KEY;
if (!address || query === undefined || !apiKey) {
  console.error('usage: SHEPHERD_API_KEY=<key> node answer.mjs <edge address, e.g. http://127.0.0.1:5100> <query> [strategy] [task]');
  process.exit(2);
}

// google/protobuf/timestamp.proto resolves to the well-known types protobufjs bundles.
const definition = protoLoader.loadSync('shepherd/v1/shepherd.proto', {
  includeDirs: [protos],
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const { ShepherdService } = grpc.loadPackageDefinition(definition).shepherd.v1;

const url = new URL(address);
const client = new ShepherdService(url.host, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
metadata.set('authorization', `Bearer ${apiKey}`);

const request = {
  query,
  strategy: `STRATEGY_${strategy.toUpperCase().replaceAll('-', '_')}`,
  task: `TASK_KIND_${task.toUpperCase()}`,
  requestId: `node-${process.pid}-${Date.now()}`,
};
const deadline = new Date(Date.now() + 60_000);

client.answer(request, metadata, { deadline }, (error, response) => {
  client.close();
  if (error) {
    console.error(JSON.stringify({ code: error.code, status: grpc.status[error.code], details: error.details }));
    process.exit(1);
  }
  console.log(JSON.stringify(response));
});
