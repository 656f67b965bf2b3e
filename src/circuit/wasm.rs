//! The circom WebAssembly witness generator (feature `wasm-witness`): our typed driver of a
//! circuit's `.wasm` under wasmer, for circuits whose witness rlnkit does not compute natively
//! (and as the reference the native witness is tested against).

use std::path::Path;
use std::sync::Mutex;

use ark_bn254::Fr;
use ark_ff::{BigInt, BigInteger, PrimeField};
use wasmer::{imports, Engine, Function, Memory, Module, RuntimeError, Store, TypedFunction};

use super::cache;
use super::WitnessInput;
use crate::field::Field;

/// Format tag of cached compiled modules: the artifact is specific to the wasmer version, its
/// compiler and the target.
#[cfg(target_arch = "x86_64")]
const MODULE_CACHE_KIND: &str = "wasmer6.1-cranelift-x86_64";
#[cfg(target_arch = "aarch64")]
const MODULE_CACHE_KIND: &str = "wasmer6.1-cranelift-aarch64";
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const MODULE_CACHE_KIND: &str = "wasmer6.1-cranelift-other";

/// One instance of a circom 2 witness generator, driven through its exports with typed calls:
/// inputs and the witness go through the module's shared read/write area directly in its memory
/// (one copy per value instead of a host call per 32-bit word).
struct Instance {
    store: Store,
    memory: Memory,
    init: TypedFunction<i32, ()>,
    set_input_signal: TypedFunction<(i32, i32, i32), ()>,
    get_witness: TypedFunction<i32, ()>,
    /// Byte address of the shared read/write area.
    shared: u64,
    witness_size: u32,
}

/// What circom's runtime reports through `exceptionHandler` (circom_runtime's witness_calculator.js).
fn circom_exception(code: i32) -> String {
    match code {
        1 => "signal not found (the input names do not match the circuit)".into(),
        2 => "too many values for an input signal".into(),
        3 => "an input signal was set twice".into(),
        4 => "a circuit assertion failed for these inputs".into(),
        5 => "the witness generator ran out of memory".into(),
        6 => "an input array is longer than the circuit's".into(),
        c => format!("circom runtime exception {c}"),
    }
}

/// circom's signal-name hash (64-bit FNV-1a), split into its high and low halves.
fn fnv1a(name: &str) -> (i32, i32) {
    let h = name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    ((h >> 32) as u32 as i32, h as u32 as i32)
}

impl Instance {
    /// An instance in a new store of `engine` (the engine that compiled `module`).
    fn new(engine: &Engine, module: &Module) -> Result<Self, String> {
        let mut store = Store::new(engine.clone());
        let imports = imports! {
            "runtime" => {
                "exceptionHandler" => Function::new_typed(&mut store, |code: i32| -> Result<(), RuntimeError> { Err(RuntimeError::new(circom_exception(code))) }),
                "printErrorMessage" => Function::new_typed(&mut store, || {}),
                "writeBufferMessage" => Function::new_typed(&mut store, || {}),
                "showSharedRWMemory" => Function::new_typed(&mut store, || {}),
            }
        };
        let instance =
            wasmer::Instance::new(&mut store, module, &imports).map_err(|e| e.to_string())?;
        let e = &instance.exports;
        let err = |e: wasmer::ExportError| format!("not a circom 2 witness generator: {e}");
        let memory = e.get_memory("memory").map_err(err)?.clone();
        let field_words: TypedFunction<(), i32> =
            e.get_typed_function(&store, "getFieldNumLen32").map_err(err)?;
        let get_raw_prime: TypedFunction<(), ()> =
            e.get_typed_function(&store, "getRawPrime").map_err(err)?;
        let shared_start: TypedFunction<(), i32> =
            e.get_typed_function(&store, "getSharedRWMemoryStart").map_err(err)?;
        let witness_size: TypedFunction<(), i32> =
            e.get_typed_function(&store, "getWitnessSize").map_err(err)?;
        let mut instance = Instance {
            init: e.get_typed_function(&store, "init").map_err(err)?,
            set_input_signal: e.get_typed_function(&store, "setInputSignal").map_err(err)?,
            get_witness: e.get_typed_function(&store, "getWitness").map_err(err)?,
            shared: 0,
            witness_size: 0,
            memory,
            store,
        };
        let words = field_words.call(&mut instance.store).map_err(|e| e.message())?;
        if words != 8 {
            return Err(format!(
                "the witness generator's field has {words} 32-bit words, BN254's has 8"
            ));
        }
        instance.shared =
            shared_start.call(&mut instance.store).map_err(|e| e.message())? as u32 as u64;
        get_raw_prime.call(&mut instance.store).map_err(|e| e.message())?;
        if instance.read_shared()? != Fr::MODULUS.to_bytes_le()[..] {
            return Err(
                "the witness generator is for another field than BN254's scalar field".into()
            );
        }
        instance.witness_size =
            witness_size.call(&mut instance.store).map_err(|e| e.message())? as u32;
        Ok(instance)
    }

    fn read_shared(&self) -> Result<[u8; 32], String> {
        let mut buf = [0u8; 32];
        self.memory.view(&self.store).read(self.shared, &mut buf).map_err(|e| e.to_string())?;
        Ok(buf)
    }

    fn generate(&mut self, input: &WitnessInput) -> Result<Vec<Fr>, String> {
        self.init.call(&mut self.store, 1).map_err(|e| e.message())?;
        for (name, values) in input.signals() {
            let (hi, lo) = fnv1a(name);
            for (i, v) in values.iter().enumerate() {
                self.memory
                    .view(&self.store)
                    .write(self.shared, &v.to_le_bytes())
                    .map_err(|e| e.to_string())?;
                self.set_input_signal
                    .call(&mut self.store, hi, lo, i as i32)
                    .map_err(|e| format!("input {name}[{i}]: {}", e.message()))?;
            }
        }
        let mut witness = Vec::with_capacity(self.witness_size as usize);
        for i in 0..self.witness_size {
            self.get_witness.call(&mut self.store, i as i32).map_err(|e| e.message())?;
            let bytes = self.read_shared()?;
            let limbs: [u64; 4] = std::array::from_fn(|k| {
                u64::from_le_bytes(bytes[8 * k..8 * k + 8].try_into().expect("8 bytes"))
            });
            witness.push(
                Fr::from_bigint(BigInt(limbs))
                    .ok_or_else(|| format!("wire {i} is not a canonical field element"))?,
            );
        }
        Ok(witness)
    }
}

/// A compiled circom witness generator. Calls are serialized (the WebAssembly instance has one
/// memory); it is compiled once per process.
pub struct WitnessGenerator {
    engine: Engine,
    module: Module,
    inner: Mutex<Instance>,
}

impl WitnessGenerator {
    /// Compiles a circom `.wasm` witness generator.
    pub fn new(wasm: &[u8]) -> Result<Self, String> {
        Self::with_cache(wasm, None)
    }

    /// Compiles a circom `.wasm` witness generator, or loads it from the cache directory
    /// (compiled once per machine instead of once per process; see [`super::cache`]).
    pub fn with_cache(wasm: &[u8], cache_dir: Option<&Path>) -> Result<Self, String> {
        let store = Store::default();
        let module = match cache_dir {
            Some(dir) => {
                let entries = cache::SourceEntries::new(dir, cache::sha256(wasm));
                // SAFETY: the entry's checksum was verified, and it was written by `Module::serialize`
                // of this wasmer version for this target (both are in MODULE_CACHE_KIND).
                let cached = entries
                    .read(MODULE_CACHE_KIND)
                    .and_then(|body| unsafe { Module::deserialize(&store, body) }.ok());
                match cached {
                    Some(module) => module,
                    None => {
                        let module = Module::new(&store, wasm).map_err(|e| e.to_string())?;
                        if let Ok(bytes) = module.serialize() {
                            let _ = entries.write(MODULE_CACHE_KIND, &bytes);
                        }
                        module
                    }
                }
            }
            None => Module::new(&store, wasm).map_err(|e| e.to_string())?,
        };
        let engine = store.engine().clone();
        let instance = Instance::new(&engine, &module)?;
        Ok(WitnessGenerator { engine, module, inner: Mutex::new(instance) })
    }

    /// The full witness (wire 0 is the constant 1, then the public signals, then the rest).
    /// Fails when a circuit constraint does not hold for these inputs.
    pub fn generate(&self, input: &WitnessInput) -> Result<Vec<Fr>, String> {
        let mut instance = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let result = instance.generate(input);
        if result.is_err() {
            // A trap can leave the instance mid-computation: start the next call on a fresh one.
            if let Ok(fresh) = Instance::new(&self.engine, &self.module) {
                *instance = fresh;
            }
        }
        result
    }

    /// The witness by ark-circom's generic driver (a host call per 32-bit word; ignores failed
    /// circuit assertions): the reference [`WitnessGenerator::generate`] is tested against.
    pub fn generate_reference(&self, input: &WitnessInput) -> Result<Vec<Fr>, String> {
        let mut store = Store::new(self.engine.clone());
        let mut calculator =
            ark_circom::WitnessCalculator::from_module(&mut store, self.module.clone())
                .map_err(|e| e.to_string())?;
        let big =
            |f: &Field| num_bigint::BigInt::from_bytes_le(num_bigint::Sign::Plus, &f.to_le_bytes());
        let signals = input
            .signals()
            .map(|(name, values)| (name.to_string(), values.iter().map(big).collect::<Vec<_>>()));
        calculator
            .calculate_witness_element::<Fr, _>(&mut store, signals, true)
            .map_err(|e| format!("{e:#}"))
    }
}
