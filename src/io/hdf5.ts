// libhdf5 through h5wasm (a WebAssembly build reading and writing host files through NODERAWFS), loaded once on
// first use, with HDF5 errors thrown as exceptions instead of printed to stderr.
type H5 = typeof import('h5wasm/node');

let loading: Promise<H5> | undefined;

export function h5wasm(): Promise<H5> {
  loading ??= (async () => {
    const h5 = await import('h5wasm/node');
    const module = await h5.ready;
    module.activate_throwing_error_handler();
    return h5;
  })();
  return loading;
}
