//! `disclosureReport(personId:)`: the person's disclosure report (開示請求,
//! [`crate::disclosure`]), admins only (`Action::Disclose`). The production is ledgered as
//! one READ row (operation `disclosureReport`, the categories produced), written with the
//! request's other rows before the answer leaves.

use async_graphql::{Context, Object, ID};

use super::context::{db, req};
use super::validate;
use crate::disclosure::{self, DisclosureReport};
use crate::error::{ApiError, ApiResult};
use crate::policy::Action;

#[derive(Default)]
pub struct DisclosureQuery;

#[Object]
impl DisclosureQuery {
    /// 開示請求: 本人について保有するすべての情報と、誰がいつ何をどの根拠で見たか (管理者のみ、
    /// 作成は台帳に残る。第三者の情報は伏せる) / the person's disclosure report: everything the
    /// hub holds about them and who saw which categories when, on what basis (admins only;
    /// the production is ledgered; third parties masked)
    async fn disclosure_report(
        &self,
        ctx: &Context<'_>,
        person_id: ID,
    ) -> ApiResult<DisclosureReport> {
        let r = req(ctx)?;
        r.require(Action::Disclose, disclosure::OPERATION)?;
        let person_id = validate::id("personId", &person_id)?;
        let Some((report, entry)) =
            disclosure::produce(db(ctx)?, &r.principal, &person_id, r.now).await?
        else {
            return Err(ApiError::not_found("personId"));
        };
        r.recorder.note(entry);
        Ok(report)
    }
}
