import type { Check } from '../types';
import { credSpecCheck } from './credspec';
import { databaseCheck } from './database';
import { directoryCheck } from './directory';
import { identityCheck } from './identity';
import { instancesCheck } from './instances';
import { pageCheck } from './page';
import { serviceCheck } from './service';
import { sidecarCheck } from './sidecar';
import { stacksCheck } from './stacks';
import { targetsCheck } from './targets';

/** Every check, in the order of the chain: each link depends on the ones before it. */
export const CHECKS: readonly Check[] = [
  stacksCheck,
  directoryCheck,
  credSpecCheck,
  identityCheck,
  databaseCheck,
  instancesCheck,
  serviceCheck,
  sidecarCheck,
  targetsCheck,
  pageCheck,
];
