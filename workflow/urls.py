from django.urls import path

from workflow import api, designer_api, marks_api

urlpatterns = [
    path(
        "v1/documents/<int:document_id>/route-preview",
        api.RoutePreviewView.as_view(),
        name="route-preview",
    ),
    path("v1/documents/<int:document_id>/submit", api.SubmitView.as_view(), name="submit"),
    path("v1/documents/<int:document_id>/withdraw", api.WithdrawView.as_view(), name="withdraw"),
    path("v1/documents/<int:document_id>/route", api.RouteView.as_view(), name="route"),
    path(
        "v1/documents/<int:document_id>/skip-stage", api.SkipStageView.as_view(), name="skip-stage"
    ),
    path(
        "v1/documents/<int:document_id>/annotations",
        marks_api.AnnotationListView.as_view(),
        name="annotations",
    ),
    path(
        "v1/documents/<int:document_id>/annotations/<int:annotation_id>",
        marks_api.AnnotationDetailView.as_view(),
        name="annotation",
    ),
    path("v1/tasks", api.TaskListView.as_view(), name="tasks"),
    # The route designer (administrators): workflow.designer_api.
    path("v1/routes", designer_api.RouteListView.as_view(), name="routes"),
    path("v1/routes/simulate", designer_api.SimulateView.as_view(), name="routes-simulate"),
    path("v1/routes/check", designer_api.CheckView.as_view(), name="routes-check"),
    path("v1/routes/<slug:code>", designer_api.RouteDetailView.as_view(), name="route-detail"),
    path("v1/routes/<slug:code>/draft", designer_api.RouteDraftView.as_view(), name="route-draft"),
    path(
        "v1/routes/<slug:code>/publish",
        designer_api.RoutePublishView.as_view(),
        name="route-publish",
    ),
    path("v1/rules", designer_api.RulesView.as_view(), name="rules"),
    path("v1/rules.csv", designer_api.RulesCsvView.as_view(), name="rules-csv"),
    path("v1/rules/import", designer_api.RulesImportView.as_view(), name="rules-import"),
    path("v1/tasks/bulk-approve", api.BulkApproveView.as_view(), name="bulk-approve"),
    path("v1/tasks/<int:task_id>/approve", api.ApproveView.as_view(), name="approve"),
    path("v1/tasks/<int:task_id>/send-back", api.SendBackView.as_view(), name="send-back"),
    path("v1/tasks/<int:task_id>/reject", api.RejectView.as_view(), name="reject"),
    path("v1/tasks/<int:task_id>/reassign", api.ReassignView.as_view(), name="reassign"),
    path("v1/tasks/<int:task_id>/ask", api.AskView.as_view(), name="ask"),
    path("v1/tasks/<int:task_id>/answer", api.AnswerView.as_view(), name="answer"),
]
