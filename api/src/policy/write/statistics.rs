//! The city's statistics settings: the 実施目標 per fiscal year and indicator, and the
//! switches that turn a group of measures off. Only an administrator (SetTargets) writes
//! them (the value's form, a finite number of 0 or more, is checked as input).

use super::{needs, Permit, Ruling};
use crate::policy::{Action, Principal};

/// Setting a target (setTarget).
#[derive(Debug)]
pub enum SetTarget {}
/// Switching a group of measures (setStatisticsMeasure).
#[derive(Debug)]
pub enum SwitchMeasures {}

/// A target for `indicator` in a fiscal year: admins only.
pub fn may_set_target(p: &Principal, indicator: &str) -> Ruling<SetTarget> {
    needs(p, Action::SetTargets, "setTarget")?;
    Ok(Permit::grant(indicator))
}

/// Switching the measures of `group` on or off: admins only.
pub fn may_switch_measures(p: &Principal, group: &str) -> Ruling<SwitchMeasures> {
    needs(p, Action::SetTargets, "setStatisticsMeasure")?;
    Ok(Permit::grant(group))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;
    use crate::policy::Role;

    #[test]
    fn only_admins_set_targets_and_switches() {
        for role in Role::ALL {
            let p = principal("a1", &[*role]);
            assert_eq!(
                may_set_target(&p, "CONSULTATIONS").is_ok(),
                *role == Role::Admin,
                "{role}"
            );
            assert_eq!(
                may_switch_measures(&p, "CASES").is_ok(),
                *role == Role::Admin,
                "{role}"
            );
        }
    }
}
