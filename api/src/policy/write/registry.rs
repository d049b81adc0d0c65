//! The registry: agencies, accounts and the service clients of agency software. Only an
//! administrator (ManageRegistry) writes it; a revoked client is never changed again; a
//! client is issued only for an active SERVICE account holding INTEGRATION, with scopes
//! among the account's roles.

use std::collections::BTreeSet;

use super::{needs, Permit, Refusal, Ruling};
use crate::policy::{Action, Principal, Role};

/// Creating an agency (createAgency).
#[derive(Debug)]
pub enum CreateAgency {}
/// Changing an agency (updateAgency).
#[derive(Debug)]
pub enum ChangeAgency {}
/// Creating an account (createAccount).
#[derive(Debug)]
pub enum CreateAccount {}
/// Changing an account (updateAccount, setAccountRoles, deactivateAccount).
#[derive(Debug)]
pub enum ChangeAccount {}
/// Issuing a service client (createServiceClient).
#[derive(Debug)]
pub enum IssueClient {}
/// Changing a service client (rotateServiceClientSecret, revokeServiceClient).
#[derive(Debug)]
pub enum ChangeClient {}

/// The registry writes an administrator may make, and only those (a rule of this module
/// cannot grant a permit for another kind of record).
pub trait RegistryWrite: sealed::Sealed {}

mod sealed {
    pub trait Sealed {}
}

macro_rules! registry_writes {
    ($($w:ident),*) => {$(
        impl sealed::Sealed for $w {}
        impl RegistryWrite for $w {}
    )*};
}

registry_writes!(
    CreateAgency,
    ChangeAgency,
    CreateAccount,
    ChangeAccount,
    IssueClient
);

/// Only an administrator writes the registry: `operation` (the mutation, the FORBIDDEN
/// message) on the record `id` (for a new record, its new id).
pub fn may_administer<W: RegistryWrite>(
    p: &Principal,
    operation: &'static str,
    id: &str,
) -> Ruling<W> {
    needs(p, Action::ManageRegistry, operation)?;
    Ok(Permit::grant(id))
}

/// What a change does to an account's administration: whether the account is an active
/// administrator now, whether it stays one after the change, and how many other active
/// administrators there are.
#[derive(Debug)]
pub struct AdminChange<'a> {
    pub account_id: &'a str,
    pub admin_now: bool,
    pub admin_after: bool,
    pub other_active_admins: usize,
}

/// An administrator changes an account, but never deactivates their own, and never leaves
/// the hub without an active administrator (by deactivating the last one or taking its
/// admin role away): nobody could then manage accounts or consent, and only `tsunagi admin
/// bootstrap` on the server could make a new one.
pub fn may_change_admin(
    p: &Principal,
    operation: &'static str,
    change: &AdminChange<'_>,
    deactivating: bool,
) -> Ruling<ChangeAccount> {
    needs(p, Action::ManageRegistry, operation)?;
    if deactivating && change.account_id == p.account_id {
        return Err(Refusal::State(
            "自分のアカウントは無効化できません / an account cannot deactivate itself",
        ));
    }
    if change.admin_now && !change.admin_after && change.other_active_admins == 0 {
        return Err(Refusal::State(
            "最後の有効な管理者です。先に別の管理者を作ってください / this is the last active admin: make another admin first",
        ));
    }
    Ok(Permit::grant(change.account_id))
}

/// An administrator changes an agency, but does not deactivate their own agency (they would
/// lock themselves out) nor the last agency with an active administrator: accounts of an
/// inactive agency are refused at sign-in, so its admins are no admins.
pub fn may_change_agency(
    p: &Principal,
    agency_id: &str,
    deactivating: bool,
    (admins_inside, admins_elsewhere): (usize, usize),
) -> Ruling<ChangeAgency> {
    needs(p, Action::ManageRegistry, "updateAgency")?;
    if deactivating && agency_id == p.agency_id {
        return Err(Refusal::State(
            "自分の機関は無効化できません / an admin cannot deactivate their own agency",
        ));
    }
    if deactivating && admins_inside > 0 && admins_elsewhere == 0 {
        return Err(Refusal::State(
            "有効な管理者がいる最後の機関です / this agency holds the last active admins: make an admin elsewhere first",
        ));
    }
    Ok(Permit::grant(agency_id))
}

/// An administrator changes a client until it is revoked; a revoked client stays revoked.
pub fn may_change_client(
    p: &Principal,
    operation: &'static str,
    client_id: &str,
    revoked: bool,
) -> Ruling<ChangeClient> {
    needs(p, Action::ManageRegistry, operation)?;
    if revoked {
        return Err(Refusal::State(
            "クライアントは失効済みです / the client is already revoked",
        ));
    }
    Ok(Permit::grant(client_id))
}

/// The account a client would act as, as read.
#[derive(Debug)]
pub struct ClientAccount<'a> {
    pub kind: &'a str,
    pub active: bool,
    pub roles: &'a BTreeSet<Role>,
}

/// Why an account cannot have the client asked for (BAD_USER_INPUT at the GraphQL edge).
#[derive(Debug, PartialEq, Eq)]
pub enum Unfit {
    /// Not a SERVICE account.
    NotService,
    /// The account is deactivated.
    Deactivated,
    /// The account does not hold INTEGRATION.
    NoIntegration,
    /// These scopes are not among the account's roles.
    Beyond(Vec<Role>),
}

/// A client is issued (its new id `client_id`) for an active SERVICE account holding
/// INTEGRATION, with scopes among the account's roles: checked in that order.
pub fn may_issue_client(
    p: &Principal,
    client_id: &str,
    account: &ClientAccount<'_>,
    scopes: &BTreeSet<Role>,
) -> Result<Ruling<IssueClient>, Unfit> {
    if account.kind != "SERVICE" {
        return Err(Unfit::NotService);
    }
    if !account.active {
        return Err(Unfit::Deactivated);
    }
    if !account.roles.contains(&Role::Integration) {
        return Err(Unfit::NoIntegration);
    }
    let beyond: Vec<Role> = scopes.difference(account.roles).copied().collect();
    if !beyond.is_empty() {
        return Err(Unfit::Beyond(beyond));
    }
    Ok(may_administer(p, "createServiceClient", client_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::write::test_support::principal;

    #[test]
    fn only_an_administrator_writes_the_registry() {
        let admin = principal("a1", &[Role::Admin]);
        let permit: Permit<ChangeAccount> = may_administer(&admin, "updateAccount", "x").unwrap();
        assert_eq!(permit.id(), "x");
        let worker = principal("a1", &[Role::Caseworker]);
        assert_eq!(
            may_administer::<CreateAgency>(&worker, "createAgency", "x").unwrap_err(),
            Refusal::Forbidden("createAgency")
        );
    }

    #[test]
    fn the_hub_keeps_an_active_admin_and_nobody_deactivates_themselves() {
        let admin = principal("a1", &[Role::Admin]);
        let me = admin.account_id.clone();
        let change = |id: &'static str, now: bool, after: bool, others: usize| AdminChange {
            account_id: id,
            admin_now: now,
            admin_after: after,
            other_active_admins: others,
        };
        // Deactivating another admin while one more remains; a non-admin always.
        assert!(may_change_admin(
            &admin,
            "deactivateAccount",
            &change("b", true, false, 1),
            true
        )
        .is_ok());
        assert!(may_change_admin(
            &admin,
            "deactivateAccount",
            &change("c", false, false, 0),
            true
        )
        .is_ok());
        // The last active admin: neither deactivated nor stripped of the role.
        for deactivating in [true, false] {
            assert!(matches!(
                may_change_admin(&admin, "x", &change("b", true, false, 0), deactivating),
                Err(Refusal::State(_))
            ));
        }
        // Keeping the role is no loss.
        assert!(may_change_admin(
            &admin,
            "setAccountRoles",
            &change("b", true, true, 0),
            false
        )
        .is_ok());
        // One's own account: never deactivated, even with other admins about.
        let own = AdminChange {
            account_id: &me,
            admin_now: true,
            admin_after: false,
            other_active_admins: 3,
        };
        assert!(matches!(
            may_change_admin(&admin, "deactivateAccount", &own, true),
            Err(Refusal::State(_))
        ));
        // ...but an admin may hand the role on when others hold it.
        assert!(may_change_admin(&admin, "setAccountRoles", &own, false).is_ok());
        let worker = principal("a1", &[Role::Caseworker]);
        assert_eq!(
            may_change_admin(
                &worker,
                "deactivateAccount",
                &change("b", false, false, 1),
                true
            )
            .unwrap_err(),
            Refusal::Forbidden("deactivateAccount")
        );
    }

    #[test]
    fn an_agency_with_the_last_admins_or_the_callers_own_stays_active() {
        let admin = principal("a1", &[Role::Admin]);
        assert!(may_change_agency(&admin, "b", true, (1, 1)).is_ok());
        assert!(may_change_agency(&admin, "b", true, (0, 0)).is_ok());
        assert!(may_change_agency(&admin, "b", false, (1, 0)).is_ok());
        assert!(matches!(
            may_change_agency(&admin, "b", true, (1, 0)),
            Err(Refusal::State(_))
        ));
        assert!(matches!(
            may_change_agency(&admin, "a1", true, (1, 5)),
            Err(Refusal::State(_))
        ));
    }

    #[test]
    fn a_revoked_client_is_not_changed() {
        let admin = principal("a1", &[Role::Admin]);
        assert_eq!(
            may_change_client(&admin, "rotateServiceClientSecret", "c", false)
                .unwrap()
                .id(),
            "c"
        );
        assert!(matches!(
            may_change_client(&admin, "revokeServiceClient", "c", true),
            Err(Refusal::State(_))
        ));
        // The role is checked first.
        let worker = principal("a1", &[Role::Caseworker]);
        assert_eq!(
            may_change_client(&worker, "revokeServiceClient", "c", true).unwrap_err(),
            Refusal::Forbidden("revokeServiceClient")
        );
    }

    #[test]
    fn a_client_needs_an_active_integration_service_account() {
        let admin = principal("a1", &[Role::Admin]);
        let roles: BTreeSet<Role> = [Role::Integration, Role::Caseworker].into();
        let scopes: BTreeSet<Role> = [Role::Caseworker].into();
        let service = ClientAccount {
            kind: "SERVICE",
            active: true,
            roles: &roles,
        };
        let issued = may_issue_client(&admin, "c", &service, &scopes).unwrap();
        assert_eq!(issued.unwrap().id(), "c");

        let staff = ClientAccount {
            kind: "STAFF",
            active: false,
            ..service
        };
        assert_eq!(
            may_issue_client(&admin, "c", &staff, &scopes).unwrap_err(),
            Unfit::NotService
        );
        let deactivated = ClientAccount {
            active: false,
            ..service
        };
        assert_eq!(
            may_issue_client(&admin, "c", &deactivated, &scopes).unwrap_err(),
            Unfit::Deactivated
        );
        let plain: BTreeSet<Role> = [Role::Caseworker].into();
        let no_integration = ClientAccount {
            roles: &plain,
            ..service
        };
        assert_eq!(
            may_issue_client(&admin, "c", &no_integration, &scopes).unwrap_err(),
            Unfit::NoIntegration
        );
        let wide: BTreeSet<Role> = [Role::Auditor, Role::Caseworker, Role::Coordinator].into();
        assert_eq!(
            may_issue_client(&admin, "c", &service, &wide).unwrap_err(),
            Unfit::Beyond(vec![Role::Coordinator, Role::Auditor])
        );
        // The administrator's role is still the rule's.
        let worker = principal("a1", &[Role::Caseworker]);
        assert!(matches!(
            may_issue_client(&worker, "c", &service, &scopes),
            Ok(Err(Refusal::Forbidden("createServiceClient")))
        ));
    }
}
