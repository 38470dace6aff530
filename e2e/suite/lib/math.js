export function add(a, b) {
  return a + b;
}

export function neverCalled() {
  return 'not covered';
}
