import type { NewPlugin } from 'pretty-format';

/**
 * Snapshot serializer that replaces asset hashes (64 hex characters, alone or inside asset file names and S3 keys)
 * so that snapshots change with the template's meaning, not with a rebuilt asset.
 */
const ASSET_HASH = /[0-9a-f]{64}/g;
const SCRUBBED = '[ASSET HASH]';

const serializer: NewPlugin = {
  test: (value: unknown) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string, config, indentation, depth, refs, printer) =>
    printer(value.replace(ASSET_HASH, SCRUBBED), config, indentation, depth, refs),
};

module.exports = serializer;
