// Pulls one image into a store from its own process, for tests of concurrent processes sharing a store.
// Usage: node --import tsx test/pull-process.ts <store-dir> <reference> <name>
import {
  ImageStore,
  openRegistryImage,
  parseReference,
  RegistryClient,
  staticCredentials,
} from '../src/index.js';

const [storeDir, reference, name] = process.argv.slice(2) as [string, string, string];
const client = new RegistryClient({ credentials: staticCredentials({}), env: {} });
try {
  const image = await openRegistryImage(parseReference(reference), { client });
  const stored = await new ImageStore(storeDir).pull(image, { names: [name] });
  console.log(stored.digest);
} finally {
  client.close();
}
