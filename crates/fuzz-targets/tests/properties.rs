//! The model-checking targets as property tests on stable (random operation sequences):
//! RELIABILITY.md KRN-09 (kernel operations) and JSN-01..03 (the nvim id table).

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn krn_09_kernel_op_sequence_matches_model(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        plugboard_fuzz_targets::kernel_ops(&data);
    }

    #[test]
    fn jsn_id_table_ops_match_model(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        plugboard_fuzz_targets::nvim_ids(&data);
    }

    #[test]
    fn dat_07_bincode_decode_encode_fixpoint(data in prop::collection::vec(any::<u8>(), 0..512)) {
        plugboard_fuzz_targets::bincode_decode(&data);
    }
}
