// Names for services created without one, in the style Docker users know
// ("hopeful_cori"): an adjective and a scientist, joined by "_". Valid as DNS
// name components, so they pass the same checks as names users pick.

const ADJECTIVES = [
  'admiring', 'agitated', 'amazing', 'bold', 'brave', 'busy', 'calm', 'clever', 'cool', 'dazzling',
  'eager', 'elegant', 'epic', 'fervent', 'focused', 'friendly', 'gallant', 'gifted', 'happy', 'hopeful',
  'jolly', 'keen', 'kind', 'loving', 'lucid', 'modest', 'nifty', 'optimistic', 'peaceful', 'quirky',
  'relaxed', 'serene', 'sharp', 'stoic', 'sweet', 'tender', 'trusting', 'upbeat', 'vibrant', 'zen',
] as const;

const SCIENTISTS = [
  'agnesi', 'archimedes', 'babbage', 'bohr', 'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'faraday',
  'fermat', 'feynman', 'franklin', 'galileo', 'gauss', 'goldberg', 'hamilton', 'hopper', 'hypatia', 'johnson',
  'kepler', 'knuth', 'lamport', 'liskov', 'lovelace', 'meitner', 'newton', 'noether', 'pasteur', 'ritchie',
  'shannon', 'somerville', 'tesla', 'thompson', 'torvalds', 'turing', 'wiles', 'wozniak', 'yalow', 'cori',
] as const;

/** `random()` is a number in [0, 1); injected so tests get the same name every run. */
export function randomServiceName(random: () => number = Math.random): string {
  const pick = <T>(list: readonly T[]): T => list[Math.min(list.length - 1, Math.floor(random() * list.length))]!;
  return `${pick(ADJECTIVES)}_${pick(SCIENTISTS)}`;
}
